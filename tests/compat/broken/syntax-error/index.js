// A syntax error on line 3.
exports.handler = async (event) => {
  return { ok: true, ;
};
