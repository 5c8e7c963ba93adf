"""Schrödinger bridges between 2D clouds: endpoint clouds, entropic OT by log-domain Sinkhorn, sampling
coupled pairs, Brownian bridges between them, the Gaussian closed form, and learned (LightSB) bridges."""
