// Benchmark peer: oidc-provider v9 issuing opaque client_credentials tokens
// and introspecting them, on 127.0.0.1 only. Prints one JSON line on stdout
// when ready; everything else goes to stderr.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

// oidc-provider logs its NOTICEs with console.info (stdout); keep stdout for
// the ready line only.
console.info = console.error;

const port = Number(process.env.PORT ?? 0);
const clientId = process.env.PEER_CLIENT_ID ?? 'bench-client';
const clientSecret = process.env.PEER_CLIENT_SECRET ?? 'bench-secret-0123456789abcdef0123456789abcdef';
const scope = process.env.PEER_SCOPE ?? 'api:read';
const routes = { token: '/token', introspection: '/token/introspection' };

// The issuer has to contain the port, so bind first and attach the provider after.
const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

// Own signing key and cookie keys so the dev-only defaults are not used.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

const provider = new Provider(issuer, {
  // No adapter given: oidc-provider's built-in in-memory adapter (an LRU of
  // 1000 entries, so older tokens are evicted under load).
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope,
  }],
  scopes: ['openid', ...scope.split(' ')],
  jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256' }] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  routes,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    // Only the client a token was issued to may introspect it.
    introspection: {
      enabled: true,
      allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId,
    },
    // Enabled by default in v9. With no `resource` parameter the token has no
    // resource server, so it stays opaque (JWT-format tokens are refused by
    // the introspection endpoint).
    resourceIndicators: { enabled: true },
  },
  ttl: { ClientCredentials: () => 600 },
});

server.on('request', provider.callback());

const shutdown = () => server.close(() => process.exit(0));
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

process.stdout.write(`${JSON.stringify({
  issuer,
  token_endpoint: `${issuer}${routes.token}`,
  introspection_endpoint: `${issuer}${routes.introspection}`,
  client_id: clientId,
  client_secret: clientSecret,
  pid: process.pid,
})}\n`);
