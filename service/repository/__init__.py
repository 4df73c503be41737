"""The only modules that know SQL. Functions take the connection first and never commit."""
