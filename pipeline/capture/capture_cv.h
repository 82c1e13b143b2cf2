#ifndef LINESIGHT_CAPTURE_CV_H
#define LINESIGHT_CAPTURE_CV_H

#ifdef __cplusplus
extern "C" {
#endif

typedef void* LsCapture;

// LsCaptureOpen opens uri with a backend and open parameters (property, value
// pairs), which GoCV v0.31 cannot pass. On failure it returns NULL and writes
// the reason into err.
LsCapture LsCaptureOpen(const char* uri, int api, const int* params, int nparams, char* err, int errlen);
// LsCaptureRead decodes the next frame into mat, a cv::Mat* (a gocv.Mat's Ptr).
int LsCaptureRead(LsCapture c, void* mat);
double LsCaptureGet(LsCapture c, int prop);
void LsCaptureRelease(LsCapture c);

#ifdef __cplusplus
}
#endif

#endif
