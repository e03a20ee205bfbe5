// Requires a package that is not in node_modules/: the deploy must fail naming this file, the
// line and the module.
const leftPad = require('left-pad');

exports.handler = async () => leftPad('x', 3);
