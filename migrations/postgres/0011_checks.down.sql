DROP TABLE check_results;
DROP TABLE checks;
