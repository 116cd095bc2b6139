"""The row family: GAN and VAE learn single interaction rows (see model/family.py)."""
