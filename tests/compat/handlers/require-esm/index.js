// CommonJS that require()s ESM-only packages (uuid 14, nanoid 5) from node_modules/, as
// Node.js 22 allows.
const { v5, validate } = require('uuid');
const { customAlphabet } = require('nanoid');

const code = customAlphabet('ABC', 6);

exports.handler = async (event) => {
  const name = event.queryStringParameters?.name ?? 'flint';
  const id = v5(name, v5.URL);
  return { id, valid: validate(id), code: /^[ABC]{6}$/.test(code()) };
};
