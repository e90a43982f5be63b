"""podbay.network"""
