// Replaces {{name}} in a template with escaped values.
const escape = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

exports.render = (template, values) =>
  template.replace(/\{\{(\w+)\}\}/g, (_, name) => escape(values[name]));
