/**
 * HTTP syntax rules (RFC 9110 §5.1, §5.5; RFC 9112 §3.2.1), shared by option
 * validation, header checks, offload instructions and the sidecar. Imports nothing.
 */

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Origin-form as undici sends it: '/', then visible ASCII without '#'. */
const ORIGIN_FORM = /^\/[\x21-\x22\x24-\x7e]*$/;

/** A field name or method: RFC 9110 §5.6.2 token. */
export function isToken(value: string): boolean {
  return TOKEN.test(value);
}

/** RFC 9110 §5.5 field-value: no CR, LF, NUL or other controls. */
export function isFieldValue(value: string): boolean {
  return FIELD_VALUE.test(value);
}

/** RFC 9112 §3.2.1 origin-form (`/path?query`) as undici will send it byte for byte. */
export function isOriginForm(value: string): boolean {
  return ORIGIN_FORM.test(value);
}
