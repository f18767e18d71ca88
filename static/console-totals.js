// The console's totals ({unread, waiting}, from the inbox socket) where an
// agent sees them from anywhere: the tab title, the tab icon (drawn, with
// a red count badge) and the header's chips.
import { I18N } from './i18n.mjs';
import { badgeText } from './inbox.mjs';
import { pageTitle } from './chat-state.mjs';

const t = (key, vars) => I18N.t(key, vars);

/** The tab icon: a chat bubble, with a red count badge while anything is unread. */
function drawFavicon(favicon, count) {
  const size = 64;
  const canvas = document.createElement('canvas');
  canvas.width = size;
  canvas.height = size;
  const g = canvas.getContext('2d');
  if (!g) return;
  g.fillStyle = '#2563eb';
  g.beginPath();
  g.arc(30, 30, 26, 0, Math.PI * 2);
  g.fill();
  g.beginPath(); // the bubble's tail
  g.moveTo(14, 46);
  g.lineTo(6, 60);
  g.lineTo(28, 52);
  g.fill();
  if (count > 0) {
    g.fillStyle = '#dc2626';
    g.beginPath();
    g.arc(44, 20, 20, 0, Math.PI * 2);
    g.fill();
    g.fillStyle = '#ffffff';
    g.font = 'bold 26px sans-serif';
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    g.fillText(badgeText(count), 44, 21, 36);
  }
  favicon.href = canvas.toDataURL('image/png');
}

/** Shows `totals` in the title, the `favicon` link and the header chips. */
export function renderTotals(totals, favicon) {
  document.title = pageTitle(t('consoleTitle'), totals.unread, t);
  for (const [id, n, key] of [['total-unread', totals.unread, 'totalUnread'], ['total-waiting', totals.waiting, 'totalWaiting']]) {
    const chip = document.getElementById(id);
    chip.dataset.count = String(n);
    chip.textContent = t(key, { n });
    chip.hidden = n === 0;
  }
  drawFavicon(favicon, totals.unread);
}
