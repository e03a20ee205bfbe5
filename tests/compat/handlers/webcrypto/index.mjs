// WebCrypto through the global crypto.subtle, no packages: digests, HMAC, AES-GCM with a fixed
// IV, PBKDF2, HKDF, and an ECDSA round trip (its signatures are random).
const enc = new TextEncoder();
const hex = (buf) => Buffer.from(buf).toString('hex');

export const handler = async (event) => {
  const data = enc.encode(event.body ?? 'data');
  const subtle = crypto.subtle;
  const hmacKey = await subtle.importKey('raw', enc.encode('key'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  const mac = await subtle.sign('HMAC', hmacKey, data);
  const aesKey = await subtle.importKey('raw', new Uint8Array(32).fill(9), 'AES-GCM', true, ['encrypt', 'decrypt']);
  const iv = new Uint8Array(12).fill(3);
  const sealed = await subtle.encrypt({ name: 'AES-GCM', iv }, aesKey, data);
  const opened = await subtle.decrypt({ name: 'AES-GCM', iv }, aesKey, sealed);
  const pbkdf2Base = await subtle.importKey('raw', enc.encode('password'), 'PBKDF2', false, ['deriveBits']);
  const pbkdf2 = await subtle.deriveBits({ name: 'PBKDF2', salt: enc.encode('salt'), iterations: 1000, hash: 'SHA-256' }, pbkdf2Base, 256);
  const hkdfBase = await subtle.importKey('raw', enc.encode('ikm'), 'HKDF', false, ['deriveBits']);
  const hkdf = await subtle.deriveBits({ name: 'HKDF', salt: enc.encode('s'), info: enc.encode('i'), hash: 'SHA-256' }, hkdfBase, 128);
  const ec = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const sig = await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, ec.privateKey, data);
  const jwk = await subtle.exportKey('jwk', ec.publicKey);
  return {
    sha1: hex(await subtle.digest('SHA-1', data)),
    sha512: hex(await subtle.digest('SHA-512', data)),
    hmac: hex(mac),
    hmacOk: await subtle.verify('HMAC', hmacKey, mac, data),
    aesGcm: hex(sealed),
    roundTrip: new TextDecoder().decode(opened),
    pbkdf2: hex(pbkdf2),
    hkdf: hex(hkdf),
    ecdsaOk: await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, ec.publicKey, sig, data),
    jwk: { kty: jwk.kty, crv: jwk.crv },
    random: crypto.getRandomValues(new Uint8Array(4)).length,
  };
};
