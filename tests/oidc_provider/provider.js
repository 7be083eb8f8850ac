// A standards-following OpenID provider for lifemsg's tests: panva's oidc-provider (OpenID
// certified), on loopback, with a plain login page instead of its development interactions, so that
// a test can choose who logs in and at which assurance level (acr), as a Swedish e-ID broker or an
// organisation's IdP would report it.
//
// Started by tests/oidc_provider.py with a JSON configuration on stdin:
//   {"port": <a free port>, "clients": [...oidc-provider client metadata...], "accounts": {"login": {claims}},
//    "clientAuthMethods": ["client_secret_basic"]}
// It prints one line, "READY <issuer>", once it listens. Everything else is the library's own
// behaviour (discovery, PKCE, client authentication, tokens, userinfo, RP-initiated logout),
// except one test control: POST /__test__/clock {"skew_seconds": n} runs its clock n seconds ahead.
import crypto from 'node:crypto';
import http from 'node:http';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(0, 'utf8'));

// The provider reads the time through Date.now (its epochTime helper): shifting it moves iat, nbf,
// exp and auth_time of everything it issues, as a broker whose clock runs ahead would.
let skewMs = 0;
const realNow = Date.now;
Date.now = () => realNow() + skewMs;

const PNR_SCOPE = 'https://id.oidc.se/scope/naturalPersonNumber';
const PNR_CLAIM = 'https://id.oidc.se/claim/personalIdentityNumber';
const LOA = (n) => `http://id.elegnamnden.se/loa/1.0/loa${n}`;

const signingKey = {
  ...crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
  kid: 'test-key-1',
  alg: 'RS256',
  use: 'sig',
};

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid, clientId, error) {
  const loa = [2, 3, 4].map((n) => `<option value="${n}"${n === 3 ? ' selected' : ''}>LoA ${n}</option>`);
  return `<!DOCTYPE html>
<html lang="sv"><head><meta charset="utf-8"><title>Test-IdP: logga in</title></head>
<body><main>
<h1>Test-IdP: logga in</h1>
<p>Klient: ${escapeHtml(clientId)}</p>
${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
  <label for="login">Konto</label> <input id="login" name="login" autocomplete="off" required>
  <label for="loa">Tillitsnivå</label> <select id="loa" name="loa">${loa.join('')}</select>
  <label><input type="checkbox" name="mfa" value="1" checked> Flerfaktor</label>
  <button type="submit">Logga in hos Test-IdP</button>
</form>
</main></body></html>`;
}

const provider = new Provider(`http://127.0.0.1:${config.port}`, {
  clients: config.clients,
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  acrValues: [LOA(2), LOA(3), LOA(4)],
  // As a provider that insists on the OpenID default: client_secret_post is refused (invalid_client).
  clientAuthMethods: config.clientAuthMethods || ['client_secret_basic'],
  claims: {
    acr: null,
    amr: null,
    auth_time: null,
    sid: null,
    openid: ['sub'],
    profile: ['given_name', 'family_name', 'name', 'preferred_username'],
    email: ['email'],
    groups: ['groups'],
    [PNR_SCOPE]: [PNR_CLAIM],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'groups', PNR_SCOPE],
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true },
  },
  pkce: { required: () => true, methods: ['S256'] },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const claims = config.accounts[sub];
    if (!claims) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...claims }) };
  },
  // First-party clients: what they ask for is granted without a consent page.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ctx.oidc.params.scope || 'openid');
    await grant.save();
    return grant;
  },
});
provider.proxy = false;

function readBody(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

async function interaction(req, res, url) {
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(loginPage(details.uid, details.params.client_id));
    return;
  }
  const form = new URLSearchParams(await readBody(req));
  const login = form.get('login') || '';
  if (!config.accounts[login]) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(loginPage(details.uid, details.params.client_id, 'Okänt konto'));
    return;
  }
  const amr = form.get('mfa') ? ['pwd', 'mfa'] : ['pwd'];
  await provider.interactionFinished(req, res, {
    login: { accountId: login, acr: LOA(Number(form.get('loa') || 3)), amr },
  }, { mergeWithLastSubmission: false });
}

async function control(req, res, url) {
  const body = JSON.parse((await readBody(req)) || '{}');
  if (url.pathname === '/__test__/clock') skewMs = Number(body.skew_seconds || 0) * 1000;
  res.writeHead(204);
  res.end();
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  let handler = null;
  if (url.pathname.startsWith('/interaction/')) handler = interaction;
  else if (url.pathname.startsWith('/__test__/') && req.method === 'POST') handler = control;
  if (!handler) return callback(req, res);
  return handler(req, res, url).catch((err) => {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`${err.name}: ${err.message}`);
  });
});
server.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`READY http://127.0.0.1:${server.address().port}\n`);
});
