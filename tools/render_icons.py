"""Render the app's PNG icons from its SVGs (run by hand after changing an SVG;
the PNGs are committed, so nothing renders at build or run time).

    .venv/bin/python tools/render_icons.py
"""

from pathlib import Path

from playwright.sync_api import sync_playwright

ICONS = Path(__file__).resolve().parent.parent / "ipt_groups" / "static" / "icons"
OUTPUTS = (
    ("icon.svg", 192, "icon-192.png"),
    ("icon.svg", 512, "icon-512.png"),
    ("maskable.svg", 512, "maskable-512.png"),
    ("icon.svg", 180, "apple-touch-icon.png"),
)


def main() -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        for source, size, name in OUTPUTS:
            page = browser.new_page(viewport={"width": size, "height": size})
            svg = (ICONS / source).read_text().replace("#", "%23")
            page.set_content(
                "<html><body style='margin:0'><img style='width:100%;display:block' "
                f"src='data:image/svg+xml;utf8,{svg}'></body></html>"
            )
            page.screenshot(path=str(ICONS / name), omit_background=True)
        browser.close()


if __name__ == "__main__":
    main()
