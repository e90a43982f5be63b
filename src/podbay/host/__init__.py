"""podbay.host"""
