SELECT (a, FROM t WHERE 'unterminated
