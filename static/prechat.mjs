// The pre-chat form's rules, DOM-free (tests/js/prechat.test.mjs): which
// fields it asks for, whether it still has to be shown, and what a filled
// form sends. `prechat` is /widget/config's {name, email}, each 'off',
// 'optional' or 'required'; `contact` the conversation's {name, email}.

const FIELDS = ['name', 'email'];

/** The fields the form asks for, in order. */
export function askedFields(prechat) {
  return FIELDS.filter((f) => prechat && (prechat[f] === 'optional' || prechat[f] === 'required'));
}

/** Required fields the contact does not have yet. */
export function missingRequired(prechat, contact) {
  return askedFields(prechat).filter((f) => prechat[f] === 'required' && !(contact && contact[f]));
}

/**
 * Whether the form is shown: it asks for something, nothing has been said
 * yet, the customer did not skip it, and an asked field is still empty
 * (a required one, or any while nothing at all was given).
 */
export function formNeeded(prechat, contact, conversationEmpty, skipped) {
  const asked = askedFields(prechat);
  if (!asked.length || !conversationEmpty) return false;
  if (missingRequired(prechat, contact).length) return true;
  return !skipped && asked.some((f) => !(contact && contact[f]));
}

/**
 * The `contact` frame for what was typed: trimmed, empty fields left out;
 * `missing` lists required fields left empty (then nothing is sent).
 */
export function contactFrame(prechat, values) {
  const frame = { type: 'contact' };
  const missing = [];
  for (const f of askedFields(prechat)) {
    const v = String((values && values[f]) || '').trim();
    if (v) frame[f] = v;
    else if (prechat[f] === 'required') missing.push(f);
  }
  return { frame: Object.keys(frame).length > 1 ? frame : null, missing };
}
