"""The psychoeducation library: items and their versions, sanitised rendering,
the release plan, cohort releases, the member's feed and reading progress, and
import/export as a folder of Markdown files with front matter.

Releases are tied to a session by number, so a rescheduled session carries its
readings with it; the feed shows a release as soon as its time has come, and the
clock's job marks it released and tells the members (once).

One module per concern; every public name is re-exported here, so callers write
``from ipt_groups.services import content`` and ``content.feed(...)``:

- ``rendering``: Markdown to sanitised HTML, the crisis text, reading time;
- ``items``: items, versions and tags, the newest version in a language;
- ``plan``: the release plan (the programme's own, or the library's scaled);
- ``due``: when a release happens, and the clock's job that releases;
- ``releases``: a cohort's releases for staff, release now / schedule / withdraw;
- ``member_feed``: the member's feed and opening a reading;
- ``files``: import and export as a folder of Markdown files.

Not to be confused with ipt_groups/content, the library's Markdown files (data).
"""

from ipt_groups.services.content.due import (
    due_time,
    release_due,
)
from ipt_groups.services.content.files import (
    FRONT_MATTER,
    LIBRARY_DIR,
    ImportResult,
    export_library,
    import_library,
    parse_file,
)
from ipt_groups.services.content.items import (
    FALLBACK_LANGUAGE,
    KEY_PATTERN,
    create_item,
    get_item,
    languages_of,
    latest,
    latest_for,
    list_items,
    live_keys,
    retire,
    save_version,
    set_tags,
)
from ipt_groups.services.content.member_feed import (
    FeedEntry,
    feed,
    open_reading,
)
from ipt_groups.services.content.plan import (
    REFERENCE_SESSIONS,
    ensure_plan,
    plan_for,
    plan_open_cohorts,
    scale_session,
)
from ipt_groups.services.content.releases import (
    CohortRelease,
    cohort_releases,
    release_at,
    withdraw,
)
from ipt_groups.services.content.rendering import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_SCHEMES,
    ALLOWED_TAGS,
    CRISIS_PLACEHOLDER,
    WORDS_PER_MINUTE,
    estimate_minutes,
    render,
    with_crisis_text,
)

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "ALLOWED_SCHEMES",
    "ALLOWED_TAGS",
    "CRISIS_PLACEHOLDER",
    "FALLBACK_LANGUAGE",
    "FRONT_MATTER",
    "KEY_PATTERN",
    "LIBRARY_DIR",
    "REFERENCE_SESSIONS",
    "WORDS_PER_MINUTE",
    "CohortRelease",
    "FeedEntry",
    "ImportResult",
    "cohort_releases",
    "create_item",
    "due_time",
    "ensure_plan",
    "estimate_minutes",
    "export_library",
    "feed",
    "get_item",
    "import_library",
    "languages_of",
    "latest",
    "latest_for",
    "list_items",
    "live_keys",
    "open_reading",
    "parse_file",
    "plan_for",
    "plan_open_cohorts",
    "release_at",
    "release_due",
    "render",
    "retire",
    "save_version",
    "scale_session",
    "set_tags",
    "with_crisis_text",
    "withdraw",
]
