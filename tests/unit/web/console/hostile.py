"""Label and annotation values an attacker who controls metric data could send: each must be
shown as the text it is, wherever the console prints it."""

HOSTILE = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "'><svg onload=alert(3)>",
    "</td></tr></table><h1>forged</h1>",
    "{{ 7*7 }}{% raw %}",
    "javascript:alert(4)",
    "&lt;b&gt;already escaped&lt;/b&gt;",
    "\u202eevil\u202c <iframe src=//x>",
)
