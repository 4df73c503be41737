"""The schema as date-prefixed SQL files, applied in name order, each once (see ``belonging.service.database``)."""
