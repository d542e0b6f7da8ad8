-- docker-compose.yml only: the second database the test suite uses (`python -m stack up` makes
-- it itself for the local stack).
CREATE DATABASE comanda_test OWNER comanda;
