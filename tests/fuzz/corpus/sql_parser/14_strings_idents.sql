-- quoting and case
SELECT `MixedCase`, "dq ident", 'it''s', `back``tick`, lower_col, ROWTIME, ROWPARTITION, ROWOFFSET FROM `s1` /* c */ EMIT CHANGES;
