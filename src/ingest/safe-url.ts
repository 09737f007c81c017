// A camera's URL as it may be shown to a technician (`lfr status`, `lfr health`): the place to
// look when a camera fails, with every credential taken out. The config refuses user:password in
// a URL (they belong in credentialsFile), but a URL is shown only through here anyway: some
// cameras take credentials as query parameters, and a config edited by hand may slip past.

/** Query parameters that carry a secret or an account on common cameras; dropped, not masked. */
const SECRET_PARAM = /^(user(name)?|usr|login|account|pass(word|wd)?|pwd|psw|token|access_token|auth|authorization|key|apikey|api_key|secret|sig(nature)?|credentials?)$/i;

/** The URL without user-info (user:password@) and without credential-like query parameters. */
export function credentialFreeUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    // Not parseable: still never show what sits between "://" and the last "@" of the authority.
    return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1').replace(/[?#].*$/, '');
  }
  u.username = '';
  u.password = '';
  for (const k of [...u.searchParams.keys()]) if (SECRET_PARAM.test(k)) u.searchParams.delete(k);
  u.hash = '';
  return u.toString();
}
