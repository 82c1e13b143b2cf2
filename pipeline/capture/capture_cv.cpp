#include <opencv2/videoio.hpp>

#include <cstring>
#include <vector>

#include "capture_cv.h"

static void setError(char* err, int errlen, const char* msg) {
    if (err != nullptr && errlen > 0) {
        std::strncpy(err, msg, errlen - 1);
        err[errlen - 1] = '\0';
    }
}

LsCapture LsCaptureOpen(const char* uri, int api, const int* params, int nparams, char* err, int errlen) {
    cv::VideoCapture* cap = new cv::VideoCapture();
    try {
        std::vector<int> p(params, params + nparams);
        if (cap->open(uri, api, p) && cap->isOpened()) {
            return cap;
        }
        setError(err, errlen, "the backend could not open it");
    } catch (const cv::Exception& e) {
        setError(err, errlen, e.what());
    } catch (...) {
        setError(err, errlen, "unknown OpenCV exception");
    }
    delete cap;
    return nullptr;
}

int LsCaptureRead(LsCapture c, void* mat) {
    try {
        return static_cast<cv::VideoCapture*>(c)->read(*static_cast<cv::Mat*>(mat)) ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

double LsCaptureGet(LsCapture c, int prop) {
    return static_cast<cv::VideoCapture*>(c)->get(prop);
}

void LsCaptureRelease(LsCapture c) {
    delete static_cast<cv::VideoCapture*>(c);
}
