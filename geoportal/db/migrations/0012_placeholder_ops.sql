-- PLACEHOLDER (branch ops only): stands for another branch's migration 0012; dropped at merge.
SELECT 1;
