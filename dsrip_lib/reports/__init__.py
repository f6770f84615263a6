"""One module per registered report (its options model, its tables and the choices it makes), what every
notebook opens (``context``) and what an ad hoc notebook opens (``adhoc``)."""
