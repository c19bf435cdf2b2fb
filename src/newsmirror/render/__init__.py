"""Rendering archived articles into the files readers see."""
