// A real OpenID Provider (panva's oidc-provider) for the tests of the national e-ID login.
//
// Configured only through the environment (see tests/oidc_provider.py, which starts it):
//   OP_PORT            port on 127.0.0.1 (0 = any free port); the bound port is announced on stdout
//   OP_ISSUER          the issuer URL the world sees (a proxy in front of us, hence `proxy = true`)
//   OP_CLIENT_ID, OP_CLIENT_SECRET, OP_REDIRECT_URIS (comma-separated): the one confidential client
//   OP_ID_CLAIM, OP_LEVEL_CLAIM: names of the two claims of the `vneid` scope
//   OP_EXIT_ON_STDIN_EOF=1: exit when stdin closes (the harness's way to never outlive the tests)
//
// The login name typed at the login form is a base64url-encoded JSON object of the account's claims,
// so a test chooses who logs in without any user database.
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

// oidc-provider warns that the in-memory adapter is for development (exactly what a test needs) and that
// Node 20 is not its preferred runtime (the harness's tests pass on Node 20.20); both would repeat on
// every start.
const QUIET = [/in-memory adapter/, /Unsupported runtime/];
const warn = console.warn.bind(console);
console.warn = (...args) => QUIET.some((re) => re.test(String(args[0]))) || warn(...args);
// stdout carries exactly one line (the announcement below); the library's notices go to stderr.
console.log = console.error;
console.info = console.error;

const { default: Provider } = await import('oidc-provider');

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`provider.mjs: environment variable ${name} is required`);
    process.exit(2);
  }
  return value;
}

const ISSUER = required('OP_ISSUER');
const CLIENT_ID = required('OP_CLIENT_ID');
const CLIENT_SECRET = required('OP_CLIENT_SECRET');
const REDIRECT_URIS = required('OP_REDIRECT_URIS').split(',').map((uri) => uri.trim()).filter(Boolean);
const PORT = Number(process.env.OP_PORT ?? '0');
const ID_CLAIM = process.env.OP_ID_CLAIM || 'personal_id';
const LEVEL_CLAIM = process.env.OP_LEVEL_CLAIM || 'identity_level';

// Fresh keys per start: the library's built-in development keys print warnings and are public anyway.
function signingKey(type, options, alg) {
  const jwk = generateKeyPairSync(type, options).privateKey.export({ format: 'jwk' });
  return { ...jwk, alg, use: 'sig', kid: `${alg.toLowerCase()}-${randomBytes(6).toString('hex')}` };
}
const jwks = {
  keys: [
    signingKey('rsa', { modulusLength: 2048 }, 'RS256'), // ID tokens use RS256, the OIDC default
    signingKey('ec', { namedCurve: 'P-256' }, 'ES256'),
  ],
};

// oidc-provider makes the ID token's `sub` the session's accountId, so the login form turns the
// typed claims into an accountId (the subject) and remembers the claims under it; the last login of
// a subject defines its claims.
const accounts = new Map();

function decodeLoginName(loginName) {
  // Buffer's base64url decoder skips characters it does not know, so check the alphabet first.
  if (!/^[A-Za-z0-9_-]+$/.test(loginName)) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(loginName, 'base64url').toString('utf8'));
    if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) return undefined;
    return claims;
  } catch {
    return undefined;
  }
}

function subjectOf(claims, loginName) {
  if (typeof claims.sub === 'string' && claims.sub) return claims.sub;
  const basis = claims[ID_CLAIM] ? `${ID_CLAIM}:${claims[ID_CLAIM]}` : `login:${loginName}`;
  return createHash('sha256').update(basis).digest('hex').slice(0, 32);
}

const provider = new Provider(ISSUER, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: REDIRECT_URIS,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      // Either secret method is accepted at the token endpoint once one of them is registered.
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks,
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  scopes: ['openid'],
  claims: {
    openid: ['sub'],
    profile: [
      'name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile',
      'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at',
    ],
    phone: ['phone_number', 'phone_number_verified'],
    vneid: [ID_CLAIM, LEVEL_CLAIM],
  },
  // Without this only `sub` and protocol claims are in an ID token issued next to an access token,
  // the rest being left for userinfo; the relying party reads the citizen from the ID token alone.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  async findAccount(_ctx, sub) {
    const claims = accounts.get(sub);
    if (!claims) return undefined;
    return { accountId: sub, claims: async () => ({ ...claims, sub }) };
  },
  ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', `<p id="error">${escape(out.error)}: ${escape(out.error_description ?? '')}</p>`);
  },
});
provider.proxy = true; // honour X-Forwarded-Host/-Proto: every URL we emit must be the proxy's
provider.on('server_error', (_ctx, error) => console.error('oidc-provider server_error:', error));

// -- interactions: plain HTML forms, so a headless client completes them without JavaScript ------------------

function escape(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head>`
    + `<body><h1>${escape(title)}</h1>${body}</body></html>`;
}

function loginPage(uid) {
  return page('Sign-in', `<form method="post" action="/interaction/${uid}/login">`
    + '<label for="login">Login name (base64url JSON claims)</label>'
    + '<input id="login" name="login" autocomplete="off" required>'
    + '<button type="submit">Sign-in</button></form>'
    + `<form method="post" action="/interaction/${uid}/abort"><button type="submit">Cancel</button></form>`);
}

function consentPage(uid, details) {
  const scopes = (details.missingOIDCScope ?? []).filter((scope) => scope !== 'openid');
  const items = scopes.map((scope) => `<li>${escape(scope)}</li>`).join('');
  return page('Authorize', `<ul>${items}</ul><form method="post" action="/interaction/${uid}/confirm">`
    + '<input type="hidden" name="prompt" value="consent"><button type="submit">Continue</button></form>'
    + `<form method="post" action="/interaction/${uid}/abort"><button type="submit">Cancel</button></form>`);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 65536) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

async function grantConsent(details, session, params, grantId) {
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return grant.save();
}

async function interaction(req, res, uid, action) {
  const { prompt, params, session, grantId } = await provider.interactionDetails(req, res);
  if (!action && req.method === 'GET') {
    if (prompt.name === 'login') return send(res, 200, loginPage(uid));
    if (prompt.name === 'consent') return send(res, 200, consentPage(uid, prompt.details));
    return send(res, 501, page('Error', `<p>prompt ${escape(prompt.name)} not implemented</p>`));
  }
  if (req.method !== 'POST') return send(res, 405, page('Error', '<p>method not allowed</p>'));
  const form = await readForm(req);
  let result;
  let merge = false;
  if (action === 'login' && prompt.name === 'login') {
    const loginName = form.get('login') ?? '';
    const claims = decodeLoginName(loginName);
    if (claims) {
      const sub = subjectOf(claims, loginName);
      accounts.set(sub, claims);
      result = { login: { accountId: sub } };
    } else {
      // Refused: the authorization ends at the client's redirect URI with an error, never with a code.
      result = { error: 'access_denied', error_description: 'login name is not base64url-encoded JSON claims' };
    }
  } else if (action === 'confirm' && prompt.name === 'consent') {
    result = { consent: { grantId: await grantConsent(prompt.details, session, params, grantId) } };
    merge = true;
  } else if (action === 'abort') {
    result = { error: 'access_denied', error_description: 'End-User aborted interaction' };
  } else {
    return send(res, 400, page('Error', `<p>${escape(action)} does not answer prompt ${escape(prompt.name)}</p>`));
  }
  return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: merge });
}

const INTERACTION = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?$/;
const handle = provider.callback();

const server = createServer((req, res) => {
  const match = INTERACTION.exec(new URL(req.url, 'http://op.invalid').pathname);
  if (!match) return handle(req, res);
  return interaction(req, res, match[1], match[2]).catch((error) => {
    // Typically SessionNotFound: the interaction cookie is missing or the interaction expired.
    if (!res.headersSent) send(res, 400, page('Error', `<p id="error">${escape(error.message)}</p>`));
    else res.end();
  });
});

function shutdown() {
  server.close();
  server.closeAllConnections();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
// The test harness holds our stdin open; if it dies without stopping us (SIGKILL), we must not linger.
if (process.env.OP_EXIT_ON_STDIN_EOF === '1') {
  process.stdin.on('end', shutdown);
  process.stdin.resume();
}

server.listen(PORT, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});
