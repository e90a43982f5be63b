"""podbay.volumes"""
