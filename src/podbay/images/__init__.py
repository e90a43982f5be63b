"""podbay.images"""
