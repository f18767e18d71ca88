// support-chat UI strings in English and Simplified Chinese, and the global
// I18N every page script uses. Static text in the HTML is marked with
// data-i18n="key" (textContent), data-i18n-placeholder, data-i18n-title,
// data-i18n-aria-label; data-i18n-var-NAME="value" fills {NAME} in those.
// data-i18n-server marks a message written by the server (always English):
// known ones are translated, others stay as they are.
// A <select id="lang"> switches the language without a reload and
// remembers it (cookie for the server, localStorage for this browser).
'use strict';

(() => {
  const LANGS = ['en', 'zh'];
  const COOKIE = 'support_chat_lang';
  const STORAGE_KEY = 'support-chat:lang';
  const COOKIE_MAX_AGE = 31536000; // one year

  const STRINGS = {
    en: {
      language: 'Language',

      // ---- chat view -----------------------------------------------------
      titleCustomer: 'Support chat',
      titleAgent: 'Conversation {id} — Agent',
      conversation: 'Conversation {id}',
      agentView: 'You reply as the agent',
      me: 'Me',
      agent: 'Agent',
      customer: 'Customer',
      connecting: 'Connecting…',
      connected: 'Connected',
      reconnecting: 'Reconnecting…',
      offline: 'Offline',
      disconnected: 'Disconnected',
      agentOnline: 'Agent online',
      agentOffline: 'Agent offline',
      customerOnline: 'Customer online',
      customerOffline: 'Customer offline',
      replaced: 'This conversation was opened in another tab',
      reconnectHere: 'Reconnect here',
      loadOlder: 'Load older messages',
      loadingOlder: 'Loading older messages…',
      beginning: 'Beginning of conversation',
      noMessages: 'No messages yet',
      sending: 'Sending…',
      failed: 'Not sent: {reason}',
      inputLabel: 'Message',
      placeholder: 'Type a message…',
      send: 'Send',
      counter: '{n} / {max}',
      tooLong: 'Message is too long ({n} / {max} characters)',
      historyReset: 'The conversation history was reloaded from the server.',
      unreadTitle: '({n}) {title}',
      seen: 'Seen',
      typingAgent: 'Agent is typing…',
      typingCustomer: 'Customer is typing…',
      statusOpen: 'Open',
      statusResolved: 'Resolved',
      resolve: 'Resolve',
      resolvedNote: 'This conversation was marked resolved. Write to reopen it.',
      // Error codes from the server (PROTOCOL.md); unknown codes show the
      // server's own message.
      error_empty_text: 'The message is empty.',
      error_text_too_long: 'The message is longer than {max} characters.',
      error_invalid_message_id: 'The message id was refused.',
      error_store_unavailable: 'The server could not save right now; retrying…',
      error_shutting_down: 'The server is restarting; retrying…',
      error_rate_limited: 'Too many messages at once; retrying…',
      error_forbidden: 'That is not allowed here.',
      error_generic: 'Something went wrong.',

      // ---- agent console -------------------------------------------------
      consoleTitle: 'Inbox · Support chat',
      consoleHeading: 'Inbox',
      logout: 'Log out',
      filtersLabel: 'Show conversations',
      filterOpen: 'Open',
      filterResolved: 'Resolved',
      filterAll: 'All',
      searchLabel: 'Search conversations',
      searchPlaceholder: 'Search by id…',
      listLoading: 'Loading…',
      listEmpty: 'No conversations here.',
      listNoMatch: 'No conversation id contains “{search}”.',
      pickConversation: 'Choose a conversation from the list.',
      back: 'Back',
      backLabel: 'Back to the list',
      sound: 'Sound',
      soundLabel: 'Play a sound when a customer writes',
      notify: 'Notifications',
      notifyLabel: 'Show a desktop notification when a customer writes while this tab is hidden',
      notifyOn: 'Notifications on',
      notifyBlocked: 'Notifications blocked',
      notificationTitle: 'New message · {id}',
      totalUnread: '{n} unread',
      totalWaiting: '{n} waiting',
      previewMine: 'You: {text}',
      rowUnread: '{n} unread messages',
      rowWaiting: 'Waiting for a reply',

      // ---- start page ----------------------------------------------------
      indexIntro: 'A one-to-one chat between a customer and a support agent. Each customer has one conversation; messages are kept, so either side can close the page and pick up where they left off.',
      customersHeading: 'Customers',
      customersText: 'Start a new conversation with our support team.',
      startChat: 'Start a customer chat',
      agentsHeading: 'Agents',
      agentsConsoleText: 'The agent console lists every conversation as it happens — who is waiting, what is unread — and opens the chat next to the list. It asks for the agent token.',
      openConsole: 'Open the agent console',
      agentsIdText: 'Or open a single conversation by the id shown on the customer’s page:',
      conversationId: 'Conversation id',
      openConversation: 'Open conversation',
      agentError: 'Enter 1 to 64 characters: letters, digits, _ or -.',

      // ---- login and error pages -----------------------------------------
      loginTitle: 'Agent login · Support chat',
      loginHeading: 'Agent login',
      loginHelp: 'Enter the agent token. The server prints it when it starts (or it is set with --agent-token).',
      tokenLabel: 'Token',
      logIn: 'Log in',
      errorTitle: 'Error {status} — Support chat',
      errorHeading: 'Something went wrong',
      backToStart: 'Back to the start page',

      // Messages the server writes into pages (see SERVER_TEXT).
      serverBadToken: 'That token is not valid.',
      serverNoPage: 'There is no page at this address.',
      serverNotFound: 'not found',
      serverInvalidId: 'invalid client id: use 1 to 64 characters of A-Z a-z 0-9 _ -',
      serverIdentity: 'forbidden: this server verifies customer identity: open the chat from the website\'s link',
      serverIdentitySig: 'forbidden: this server verifies customer identity: open the chat from the website\'s link (it carries sig=…)',
      serverBadSig: 'forbidden: the identity signature (sig) does not match this conversation',
    },

    zh: {
      language: '语言',

      titleCustomer: '在线客服',
      titleAgent: '会话 {id} — 客服',
      conversation: '会话 {id}',
      agentView: '你以客服身份回复',
      me: '我',
      agent: '客服',
      customer: '客户',
      connecting: '正在连接…',
      connected: '已连接',
      reconnecting: '正在重新连接…',
      offline: '离线',
      disconnected: '已断开',
      agentOnline: '客服在线',
      agentOffline: '客服离线',
      customerOnline: '客户在线',
      customerOffline: '客户离线',
      replaced: '此会话已在另一个标签页中打开',
      reconnectHere: '在此处重新连接',
      loadOlder: '加载更早的消息',
      loadingOlder: '正在加载更早的消息…',
      beginning: '会话开始',
      noMessages: '暂无消息',
      sending: '发送中…',
      failed: '未发送：{reason}',
      inputLabel: '消息',
      placeholder: '输入消息…',
      send: '发送',
      counter: '{n} / {max}',
      tooLong: '消息太长（{n} / {max} 个字符）',
      historyReset: '已从服务器重新加载会话记录。',
      unreadTitle: '({n}) {title}',
      seen: '已读',
      typingAgent: '客服正在输入…',
      typingCustomer: '客户正在输入…',
      statusOpen: '进行中',
      statusResolved: '已解决',
      resolve: '标记为已解决',
      resolvedNote: '此会话已标记为已解决。发送新消息即可重新打开。',
      error_empty_text: '消息为空。',
      error_text_too_long: '消息超过 {max} 个字符。',
      error_invalid_message_id: '消息 ID 被拒绝。',
      error_store_unavailable: '服务器暂时无法保存，正在重试…',
      error_shutting_down: '服务器正在重启，正在重试…',
      error_rate_limited: '发送过于频繁，正在重试…',
      error_forbidden: '此处不允许该操作。',
      error_generic: '出了点问题。',

      consoleTitle: '收件箱 · 在线客服',
      consoleHeading: '收件箱',
      logout: '退出登录',
      filtersLabel: '显示会话',
      filterOpen: '进行中',
      filterResolved: '已解决',
      filterAll: '全部',
      searchLabel: '搜索会话',
      searchPlaceholder: '按 ID 搜索…',
      listLoading: '加载中…',
      listEmpty: '这里还没有会话。',
      listNoMatch: '没有包含“{search}”的会话 ID。',
      pickConversation: '请从列表中选择一个会话。',
      back: '返回',
      backLabel: '返回列表',
      sound: '提示音',
      soundLabel: '客户发来消息时播放提示音',
      notify: '桌面通知',
      notifyLabel: '此标签页在后台时，客户发来消息会显示桌面通知',
      notifyOn: '通知已开启',
      notifyBlocked: '通知已被阻止',
      notificationTitle: '新消息 · {id}',
      totalUnread: '{n} 条未读',
      totalWaiting: '{n} 个待回复',
      previewMine: '我：{text}',
      rowUnread: '{n} 条未读消息',
      rowWaiting: '等待回复',

      indexIntro: '客户与客服之间的一对一聊天。每位客户有一个会话；消息会被保存，任何一方都可以关闭页面，之后接着聊。',
      customersHeading: '客户',
      customersText: '与我们的客服团队开始新的对话。',
      startChat: '开始客户聊天',
      agentsHeading: '客服',
      agentsConsoleText: '客服控制台实时列出所有会话——谁在等待回复、哪些消息未读——并在列表旁打开聊天。需要客服令牌登录。',
      openConsole: '打开客服控制台',
      agentsIdText: '也可以按客户页面上显示的会话 ID 打开单个会话：',
      conversationId: '会话 ID',
      openConversation: '打开会话',
      agentError: '请输入 1 到 64 个字符：字母、数字、_ 或 -。',

      loginTitle: '客服登录 · 在线客服',
      loginHeading: '客服登录',
      loginHelp: '请输入客服令牌。服务器启动时会打印它（也可用 --agent-token 设置）。',
      tokenLabel: '令牌',
      logIn: '登录',
      errorTitle: '错误 {status} — 在线客服',
      errorHeading: '出错了',
      backToStart: '返回首页',

      serverBadToken: '该令牌无效。',
      serverNoPage: '此地址没有页面。',
      serverNotFound: '未找到',
      serverInvalidId: '会话 ID 无效：请使用 1 到 64 个 A-Z a-z 0-9 _ - 字符',
      serverIdentity: '禁止访问：此服务器会验证客户身份，请从网站提供的链接打开聊天',
      serverIdentitySig: '禁止访问：此服务器会验证客户身份，请从网站提供的链接（带有 sig=…）打开聊天',
      serverBadSig: '禁止访问：身份签名（sig）与此会话不符',
    },
  };

  // The server's English texts that we know, by their exact wording.
  const SERVER_TEXT = new Map(
    Object.entries(STRINGS.en)
      .filter(([key]) => key.startsWith('server'))
      .map(([key, text]) => [text, key]),
  );

  const listeners = new Set();
  let lang = initialLang();

  // ---- choosing and remembering ------------------------------------------------

  function pick(value) {
    const v = String(value || '').trim().toLowerCase();
    return LANGS.find((l) => v === l || v.startsWith(l + '-')) || null;
  }

  function readCookie() {
    const hit = document.cookie.split(';').map((c) => c.trim()).find((c) => c.startsWith(COOKIE + '='));
    return hit ? pick(decodeURIComponent(hit.slice(COOKIE.length + 1))) : null;
  }

  function readStorage() {
    try {
      return pick(localStorage.getItem(STORAGE_KEY));
    } catch (e) {
      return null; // storage disabled
    }
  }

  /**
   * `?lang=` first, then the remembered choice, then the page's <html lang>
   * (which the server picked from the same cookie or Accept-Language). The
   * cookie is read here too because not every page is rendered with it
   * (error pages are always English), and localStorage covers a lost cookie.
   */
  function initialLang() {
    const fromQuery = pick(new URLSearchParams(location.search).get('lang'));
    if (fromQuery) return fromQuery;
    const fromCookie = readCookie();
    if (fromCookie) return fromCookie;
    const stored = readStorage();
    if (stored) {
      writeCookie(stored); // so the server renders the next page right
      return stored;
    }
    return pick(document.documentElement.lang) || 'en';
  }

  function writeCookie(value) {
    document.cookie = COOKIE + '=' + value + '; path=/; max-age=' + COOKIE_MAX_AGE + '; SameSite=Lax';
  }

  function remember(value) {
    writeCookie(value);
    try {
      localStorage.setItem(STORAGE_KEY, value);
    } catch (e) {
      // storage disabled: the cookie still carries the choice
    }
    // A `?lang=` in the address would override the choice on reload.
    const url = new URL(location.href);
    if (url.searchParams.has('lang')) {
      url.searchParams.set('lang', value);
      history.replaceState(history.state, '', url);
    }
  }

  // ---- lookups -------------------------------------------------------------------

  /** The UI string `key` with `{name}` filled from `vars`; English if missing. */
  function t(key, vars) {
    let s = STRINGS[lang][key];
    if (s === undefined) s = STRINGS.en[key];
    if (s === undefined) return key;
    if (!vars) return s;
    return s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
  }

  function has(key) {
    return key in STRINGS.en;
  }

  /** The locale for dates and numbers: the browser's own for English. */
  function locale() {
    return lang === 'zh' ? 'zh-CN' : undefined;
  }

  function validDate(ts) {
    const d = new Date(ts);
    return Number.isNaN(d.getTime()) ? null : d;
  }

  /** Time for today's messages, date and time for older ones. */
  function formatTime(ts) {
    const d = validDate(ts);
    if (!d) return '';
    const time = d.toLocaleTimeString(locale(), { hour: '2-digit', minute: '2-digit' });
    if (d.toDateString() === new Date().toDateString()) return time;
    return d.toLocaleDateString(locale()) + ' ' + time;
  }

  function formatDateTime(ts) {
    const d = validDate(ts);
    return d ? d.toLocaleString(locale()) : '';
  }

  /** "5 minutes ago" style; dates beyond a week. */
  function formatRelative(ts, now = Date.now()) {
    const d = validDate(ts);
    if (!d) return '';
    const seconds = Math.round((d.getTime() - now) / 1000);
    const abs = Math.abs(seconds);
    if (abs >= 7 * 86400 || typeof Intl.RelativeTimeFormat !== 'function') {
      return d.toLocaleDateString(locale());
    }
    const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' });
    if (abs < 45) return rtf.format(0, 'second'); // "now"
    if (abs < 3600) return rtf.format(Math.round(seconds / 60), 'minute');
    if (abs < 86400) return rtf.format(Math.round(seconds / 3600), 'hour');
    return rtf.format(Math.round(seconds / 86400), 'day');
  }

  // ---- applying to the page ---------------------------------------------------------

  /** {name: value} from an element's data-i18n-var-NAME attributes. */
  function varsOf(el) {
    const vars = {};
    for (const [k, v] of Object.entries(el.dataset)) {
      if (k.startsWith('i18nVar') && k.length > 7) vars[k.slice(7).toLowerCase()] = v;
    }
    return vars;
  }

  function translateServerText(el) {
    // The first English text is the source for every later switch.
    if (el.dataset.i18nSource === undefined) el.dataset.i18nSource = el.textContent.trim();
    const key = SERVER_TEXT.get(el.dataset.i18nSource);
    el.textContent = key ? t(key) : el.dataset.i18nSource;
  }

  /** Translates every marked element under `root` (the whole page by default). */
  function apply(root = document) {
    for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n, varsOf(el));
    for (const el of root.querySelectorAll('[data-i18n-placeholder]')) {
      el.placeholder = t(el.dataset.i18nPlaceholder, varsOf(el));
    }
    for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle, varsOf(el));
    for (const el of root.querySelectorAll('[data-i18n-aria-label]')) {
      el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel, varsOf(el)));
    }
    for (const el of root.querySelectorAll('[data-i18n-server]')) translateServerText(el);
    for (const select of root.querySelectorAll('select#lang')) select.value = lang;
  }

  /** Switches the page to `value` without a reload and remembers it. */
  function setLang(value) {
    const next = pick(value);
    if (!next) return;
    remember(next);
    if (next === lang) return;
    lang = next;
    document.documentElement.lang = next;
    apply();
    for (const fn of listeners) fn(next);
  }

  /** Calls `fn(lang)` after every switch, until `signal` (optional) aborts. */
  function onChange(fn, signal) {
    listeners.add(fn);
    if (signal) signal.addEventListener('abort', () => listeners.delete(fn), { once: true });
  }

  window.I18N = {
    get lang() {
      return lang;
    },
    t, has, locale, formatTime, formatDateTime, formatRelative, apply, setLang, onChange,
  };

  document.documentElement.lang = lang;
  apply();
  for (const select of document.querySelectorAll('select#lang')) {
    select.addEventListener('change', () => setLang(select.value));
  }
})();
