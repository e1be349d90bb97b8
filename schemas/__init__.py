"""The spec format's JSON Schema, shipped as package data (`specc schema` prints it)."""
