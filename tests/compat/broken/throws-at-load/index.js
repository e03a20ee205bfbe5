// Loads a module that throws at load time (a configuration check).
const { url } = require('./lib/config');

exports.handler = async () => ({ url });
