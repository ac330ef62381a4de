-- API keys never hold the person-only permissions (`policy::person_only`);
-- keys created before that rule lose them (no key could use them since).
UPDATE api_keys
   SET scopes = TRIM(REPLACE(REPLACE(' ' || scopes || ' ', ' org:delete ', ' '), ' billing:manage ', ' '))
 WHERE (' ' || scopes || ' ') LIKE '% org:delete %' OR (' ' || scopes || ' ') LIKE '% billing:manage %';
