"""Sandbox peers (HETS, NPPES, PECOS, MAC UTN) answering from shared/fixtures only."""
