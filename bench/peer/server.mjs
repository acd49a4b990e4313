// The benchmark's peer: panva's oidc-provider (OpenID Certified), set up like Gatehouse's
// bench deployment: RS256, JWT access tokens for client_credentials, refresh tokens that
// rotate on every use, userinfo and introspection. One person ("bench-user") signs in
// through a bench-only interaction route that finishes at once (no login page to script).
//
//   node server.mjs PORT        prints "ready http://127.0.0.1:PORT" when listening
//
// It stops when its standard input closes, so it never outlives the driver (bench/run.py).
import crypto from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.argv[2] || 0);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-rs256', alg: 'RS256', use: 'sig' };
const API = 'urn:gatehouse:bench-api';

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'bench-machine',
      client_secret: 'bench-machine-secret-0123456789abcdef',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: 'bench-portal',
      client_secret: 'bench-portal-secret-0123456789abcdef',
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: ['http://127.0.0.1:8000/callback'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [jwk] },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, email: 'bench@example.com', email_verified: true, name: 'Bench Person' }),
  }),
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  scopes: ['openid', 'offline_access', 'email', 'profile', 'bench.read'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => oneOf,
      useGrantedResource: async () => false,
      getResourceServerInfo: async () => ({
        scope: 'bench.read',
        audience: API,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  pkce: { required: () => false },
  rotateRefreshToken: () => true,
  ttl: { AccessToken: 3600, ClientCredentials: 3600, RefreshToken: 14 * 24 * 3600, AuthorizationCode: 600, IdToken: 3600, Interaction: 600, Session: 86400, Grant: 14 * 24 * 3600 },
  interactions: { url: (ctx, interaction) => `/bench-interaction/${interaction.uid}` },
  cookies: { keys: ['bench-cookie-key-0123456789abcdef'] },
});
provider.proxy = false;

const callback = provider.callback();
const server = http.createServer(async (req, res) => {
  if (req.url.startsWith('/bench-interaction/')) {
    try {
      const details = await provider.interactionDetails(req, res);
      const grant = new provider.Grant({ accountId: 'bench-user', clientId: details.params.client_id });
      grant.addOIDCScope(details.params.scope);
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, {
        login: { accountId: 'bench-user' },
        consent: { grantId },
      }, { mergeWithLastSubmission: false });
    } catch (error) {
      res.statusCode = 500;
      res.end(String(error));
    }
    return;
  }
  callback(req, res);
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
