// The console's calls for attention when a customer writes or a
// conversation is given to us: a short chime (a toggle, remembered) and
// desktop notifications while the tab is hidden (asked for only on the
// agent's click, remembered).
import { I18N } from './i18n.mjs';
import { isNewCustomerMessage } from './inbox.mjs';

const SOUND_KEY = 'support-chat:console:sound';
const NOTIFY_KEY = 'support-chat:console:notify';

const t = (key, vars) => I18N.t(key, vars);

function store(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch (e) {
    // storage disabled: the setting lasts for this page view
  }
}

function load(key) {
  try {
    return localStorage.getItem(key);
  } catch (e) {
    return null;
  }
}

function canNotify() {
  return typeof Notification === 'function';
}

export class MessageAlerts {
  /**
   * `soundButton` and `notifyButton` are the header's toggles, `favicon`
   * the tab icon (the notifications' icon too); `open(id)` shows a
   * conversation, `activeId()` says which one is open.
   */
  constructor({ soundButton, notifyButton, favicon, open, activeId }) {
    this.soundButton = soundButton;
    this.notifyButton = notifyButton;
    this.favicon = favicon;
    this.open = open;
    this.activeId = activeId;
    this.lastSeqs = new Map(); // client id -> last_seq, for every summary ever seen
    this.audio = null; // AudioContext, made on a user gesture

    soundButton.setAttribute('aria-pressed', load(SOUND_KEY) === '1' ? 'true' : 'false');
    soundButton.addEventListener('click', () => this.toggleSound());
    notifyButton.addEventListener('click', () => this.onNotifyClick());
    // Any first interaction may unlock audio remembered as "on".
    const unlock = () => this.unlockAudio();
    document.addEventListener('pointerdown', unlock, { capture: true });
    document.addEventListener('keydown', unlock, { capture: true });
  }

  /** A summary's last_seq, so the next change of it can tell news. */
  remember(s) {
    if (Number.isSafeInteger(s.last_seq)) this.lastSeqs.set(s.client_id, s.last_seq);
  }

  /** A pushed change: chime (and notify, when hidden) if a customer wrote. */
  onSummary(s) {
    const news = isNewCustomerMessage(s, this.lastSeqs.get(s.client_id), Date.now());
    this.remember(s);
    if (!news) return;
    // The agent is looking right at it: no need to call for attention.
    if (s.client_id === this.activeId() && !document.hidden) return;
    this.beep();
    if (document.hidden) this.notify(s);
  }

  /** A conversation (`summary`, if valid) was given to us. */
  onAssigned(summary) {
    this.beep();
    if (document.hidden && summary) this.notify(summary);
  }

  soundOn() {
    return this.soundButton.getAttribute('aria-pressed') === 'true';
  }

  /** Browsers allow audio only after a user gesture: call from one. */
  unlockAudio() {
    if (!this.soundOn()) return;
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!this.audio && Ctx) this.audio = new Ctx();
    if (this.audio && this.audio.state === 'suspended') this.audio.resume().catch(() => {});
  }

  /** A short two-tone chime, synthesized (no audio file to load). */
  beep() {
    const audio = this.audio;
    if (!this.soundOn() || !audio || audio.state !== 'running') return;
    const now = audio.currentTime;
    const gain = audio.createGain();
    gain.connect(audio.destination);
    gain.gain.setValueAtTime(0.0001, now);
    gain.gain.exponentialRampToValueAtTime(0.2, now + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.35);
    for (const [freq, start] of [[880, 0], [1175, 0.12]]) {
      const osc = audio.createOscillator();
      osc.frequency.value = freq;
      osc.connect(gain);
      osc.start(now + start);
      osc.stop(now + 0.35);
    }
  }

  toggleSound() {
    const on = !this.soundOn();
    this.soundButton.setAttribute('aria-pressed', on ? 'true' : 'false');
    store(SOUND_KEY, on ? '1' : '0');
    this.unlockAudio(); // this click is the gesture
    this.beep(); // let the agent hear what it sounds like
  }

  notifyWanted() {
    return canNotify() && Notification.permission === 'granted' && load(NOTIFY_KEY) !== '0';
  }

  notify(s) {
    if (!this.notifyWanted()) return;
    try {
      const note = new Notification(t('notificationTitle', { id: s.client_id }), {
        body: typeof s.preview === 'string' ? s.preview : '',
        tag: 'support-chat:' + s.client_id, // one per conversation, replaced
        icon: this.favicon.href,
      });
      note.onclick = () => {
        window.focus();
        this.open(s.client_id);
        note.close();
      };
    } catch (e) {
      // Some mobile browsers allow notifications only from a service worker.
    }
  }

  /** Asks for permission only here, on the agent's click; then toggles. */
  onNotifyClick() {
    if (Notification.permission === 'granted') {
      store(NOTIFY_KEY, this.notifyWanted() ? '0' : '1');
      this.renderNotify();
      return;
    }
    const render = () => this.renderNotify();
    Promise.resolve(Notification.requestPermission()).then(() => {
      store(NOTIFY_KEY, '1');
      render();
    }, render);
  }

  /** The notifications toggle, where the browser has them (else it stays hidden). */
  renderNotify() {
    if (!canNotify()) return;
    const permission = Notification.permission;
    const button = this.notifyButton;
    button.hidden = false;
    button.disabled = permission === 'denied';
    button.setAttribute('aria-pressed', this.notifyWanted() ? 'true' : 'false');
    button.textContent = t(permission === 'denied' ? 'notifyBlocked' : this.notifyWanted() ? 'notifyOn' : 'notify');
  }
}
