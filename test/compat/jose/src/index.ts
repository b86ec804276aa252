import {
  createLocalJWKSet,
  createRemoteJWKSet,
  exportJWK,
  generateKeyPair,
  importSPKI,
  jwtVerify,
  SignJWT,
} from 'jose';

interface VerifyBody {
  token: string;
  spki?: string;
  jwks?: { keys: object[] };
  jwksUrl?: string;
  alg: string;
}

export default {
  async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    try {
      if (path === '/verify') {
        const body = (await request.json()) as VerifyBody;
        const key = body.spki
          ? await importSPKI(body.spki, body.alg)
          : body.jwks
            ? createLocalJWKSet(body.jwks as never)
            : createRemoteJWKSet(new URL(body.jwksUrl!));
        const { payload, protectedHeader } = await jwtVerify(body.token, key as never, {
          issuer: 'https://issuer.example',
          audience: 'outpost',
        });
        return Response.json({ ok: true, sub: payload.sub, alg: protectedHeader.alg });
      }
      if (path === '/sign') {
        const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
        const token = await new SignJWT({ scope: 'read' })
          .setProtectedHeader({ alg: 'ES256' })
          .setSubject('from-the-edge')
          .setIssuer('https://edge.example')
          .setExpirationTime('5m')
          .sign(privateKey);
        return Response.json({ token, jwk: await exportJWK(publicKey) });
      }
      return new Response('not found', { status: 404 });
    } catch (err) {
      const e = err as Error & { code?: string };
      return Response.json({ ok: false, code: e.code ?? e.name, message: e.message }, { status: 401 });
    }
  },
};
