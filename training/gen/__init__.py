"""Template families and hand-written rows of the port-SMS generator (see ../gen_port_sms.py)."""
