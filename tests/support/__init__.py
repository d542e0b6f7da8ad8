"""What every test folder shares: the HTTP client (on seeds/client.py) and the fixtures."""
