// Web Push on this device: asked for from a tap, re-sent on every start (the
// server upserts by endpoint, and a browser may rotate its subscription).
import * as api from './api.js';

export function supported() {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

export function isIos() {
  return /iPhone|iPad|iPod/.test(navigator.userAgent)
    || (navigator.platform === 'MacIntel' && navigator.maxTouchPoints > 1);
}

export function installed() {
  return matchMedia('(display-mode: standalone)').matches || navigator.standalone === true;
}

// On iPhone, Web Push only exists for apps added to the Home Screen.
export function needsInstallFirst() {
  return isIos() && !installed();
}

export function permission() {
  return supported() ? Notification.permission : 'unsupported';
}

function keyBytes(base64url) {
  const padded = base64url + '='.repeat((4 - (base64url.length % 4)) % 4);
  const raw = atob(padded.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function sameKey(subscription, key) {
  const current = subscription.options && subscription.options.applicationServerKey;
  if (!current) return true;
  const a = new Uint8Array(current);
  return a.length === key.length && a.every((b, i) => b === key[i]);
}

// 'on' (subscribed here), 'off' (allowed but not subscribed), 'default'
// (never asked), 'denied' or 'unsupported'.
export async function state() {
  const answer = permission();
  if (answer !== 'granted') return answer;
  const registration = await navigator.serviceWorker.ready;
  return (await registration.pushManager.getSubscription()) ? 'on' : 'off';
}

// Make sure this device is subscribed and the server knows it. Returns the state.
export async function sync() {
  if (!supported()) return 'unsupported';
  if (Notification.permission !== 'granted') return Notification.permission;
  const registration = await navigator.serviceWorker.ready;
  const { public_key: publicKey } = await api.get('/api/push/vapid-public-key');
  const key = keyBytes(publicKey);
  let subscription = await registration.pushManager.getSubscription();
  if (subscription && !sameKey(subscription, key)) {
    // The clinic changed its keys: the old subscription can no longer be used.
    await subscription.unsubscribe();
    subscription = null;
  }
  if (!subscription) {
    subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }
  await api.post('/api/push/subscriptions', subscription.toJSON());
  return 'granted';
}

// From a tap only: browsers ignore (or punish) permission prompts on load.
export async function enable() {
  if (!supported()) return 'unsupported';
  const answer = await Notification.requestPermission();
  if (answer !== 'granted') return answer;
  return sync();
}

export async function disable() {
  if (!supported()) return;
  const registration = await navigator.serviceWorker.ready;
  const subscription = await registration.pushManager.getSubscription();
  if (subscription) {
    await api.del('/api/push/subscriptions', { endpoint: subscription.endpoint }).catch(() => {});
    await subscription.unsubscribe();
  }
}
