"""FaceRig: face detection, 478-point landmarks, crop geometry, masks."""
