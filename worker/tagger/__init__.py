"""Clients for the remote taggers whose predictions are explained."""
