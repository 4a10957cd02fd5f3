"""The Streamlit interface: one thin module per page over the shared service functions."""
