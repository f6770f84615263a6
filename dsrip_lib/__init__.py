"""dsrip_lib: the computations behind the dsrip report suite."""

__version__ = "0.1.0"
