"""Clients for the remote taggers whose predictions are explained (the tagger as a request describes it is backend/tagger)."""
