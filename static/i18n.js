// For pages that still load their translation as a classic script (the
// login and error pages): the real code is the module i18n.mjs. A page
// that loads i18n.mjs as a module itself does not need this file.
import('/static/i18n.mjs');
