// A CommonJS app of several files, no bundler: package.json "main" names this entry, which
// requires its own modules and a JSON file and reads a template beside it with fs.
const fs = require('fs');
const path = require('path');
const { render } = require('../lib/render');
const prices = require('../lib/prices.json');

const template = fs.readFileSync(path.join(__dirname, '..', 'lib', 'page.html'), 'utf8');

module.exports.handler = async (event) => {
  const item = event.queryStringParameters?.item ?? 'tea';
  const price = prices[item];
  if (price === undefined) {
    return { statusCode: 404, headers: { 'content-type': 'text/plain' }, body: `no price for ${item}\n` };
  }
  return {
    statusCode: 200,
    headers: { 'content-type': 'text/html; charset=utf-8' },
    body: render(template, { item, price: price.toFixed(2), file: path.basename(__filename),
                             dir: path.basename(__dirname), main: require.main === module }),
  };
};
