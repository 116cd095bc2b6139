"""The histories family: Mult-VAE and Mult-DAE learn whole user histories (see model/family.py)."""
