-- Placeholder on branch harden-limits only, so that 0012 applies in this branch's tests.
-- DROP THIS FILE AT MERGE: the real 0010 comes from another branch.
SELECT 1;
