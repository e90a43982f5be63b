"""podbay.api"""
