// The classic Lambda handler: CommonJS, exports.handler, require('crypto'), no bundler.
const crypto = require('crypto');

exports.handler = async (event) => {
  const body = event.body || '';
  const key = process.env.SIGNING_KEY || 'k';
  const mac = crypto.createHmac('sha256', key).update(body).digest('hex');
  const given = Buffer.from(event.headers['x-signature'] || '', 'hex');
  const valid = given.length === 32 && crypto.timingSafeEqual(given, Buffer.from(mac, 'hex'));
  const iv = Buffer.alloc(16, 1);
  const cipher = crypto.createCipheriv('aes-256-cbc', crypto.scryptSync('pw', 'salt', 32), iv);
  const sealed = Buffer.concat([cipher.update(body), cipher.final()]).toString('base64');
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      sha1: crypto.createHash('sha1').update(body).digest('base64'),
      md5: crypto.createHash('md5').update(body).digest('hex'),
      mac, valid, sealed,
      uuidShape: /^[0-9a-f-]{36}$/.test(crypto.randomUUID()),
      random: crypto.randomBytes(8).length,
      pbkdf2: crypto.pbkdf2Sync('pw', 'salt', 1000, 16, 'sha512').toString('hex'),
      hashes: crypto.getHashes().includes('sha3-256'),
    }),
  };
};
